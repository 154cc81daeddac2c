import { StrictMode } from "react";
import { createRoot } from "react-dom/client";

import { App } from "./App";
import "./index.css";

async function start(): Promise<void> {
  // Dev server only: `?mock` swaps the Rust backend for an in-memory one. Vite drops this branch from builds.
  if (import.meta.env.DEV && new URLSearchParams(window.location.search).has("mock")) {
    (await import("./dev/mockBackend")).installMockBackend();
  }

  const root = document.getElementById("root");
  if (!root) throw new Error("index.html has no #root element");

  createRoot(root).render(
    <StrictMode>
      <App />
    </StrictMode>,
  );
}

void start();
