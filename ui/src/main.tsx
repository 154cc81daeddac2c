import { StrictMode } from "react";
import { createRoot } from "react-dom/client";

import { App } from "./App";
import { getSettings } from "./api/settings";
import "./index.css";
import { applyTheme } from "./lib/theme";

async function start(): Promise<void> {
  // Dev server only: `?mock` swaps the Rust backend for an in-memory one. Vite drops this branch from builds.
  if (import.meta.env.DEV && new URLSearchParams(window.location.search).has("mock")) {
    (await import("./dev/mockBackend")).installMockBackend();
  }

  // Follow the OS at once (no flash), then the stored choice once the backend answers.
  applyTheme("system");
  getSettings()
    .then((s) => applyTheme(s.settings.theme))
    .catch(() => {
      // Outside the app, or the store is unreadable: keep following the OS.
    });

  const root = document.getElementById("root");
  if (!root) throw new Error("index.html has no #root element");

  createRoot(root).render(
    <StrictMode>
      <App />
    </StrictMode>,
  );
}

void start();
