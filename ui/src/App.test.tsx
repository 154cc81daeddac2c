import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it, vi } from "vitest";

import { App } from "./App";
import { answer, listening, resetTauriMocks } from "./test/tauri-mocks";

vi.mock("@tauri-apps/api/core", async () => (await import("./test/tauri-mocks")).core);
vi.mock("@tauri-apps/api/event", async () => (await import("./test/tauri-mocks")).event);

const NAV = ["Chat", "Providers", "Aliases", "Apps", "Usage", "Logs", "Settings"];

beforeEach(() => {
  resetTauriMocks();
  answer({ gateway_status: () => Promise.resolve(listening) });
  window.location.hash = "";
});

describe("App", () => {
  it("lists the pages in order and opens on Chat", async () => {
    render(<App />);
    const items = within(screen.getByRole("navigation")).getAllByRole("button");
    expect(items.map((b) => b.textContent)).toEqual(NAV);
    expect(items.map((b) => b.dataset.testid)).toEqual(NAV.map((n) => `nav-${n.toLowerCase()}`));
    expect(screen.getByTestId("page-title")).toHaveTextContent("Chat");
    expect(screen.getByTestId("page-not-built")).toHaveTextContent(/^Chat — not built yet\./);
    await screen.findByText("Listening");
  });

  it("switches the page title and the not-built message from the sidebar", async () => {
    render(<App />);

    await userEvent.click(screen.getByTestId("nav-providers"));
    expect(screen.getByTestId("page-title")).toHaveTextContent(/^Providers$/);
    expect(screen.getByTestId("page-not-built")).toHaveTextContent(
      "Providers — not built yet. This page will let you add providers, store their keys in the OS keychain and test them.",
    );
    expect(screen.getByTestId("nav-providers")).toHaveAttribute("aria-current", "page");
    expect(screen.getByTestId("nav-chat")).not.toHaveAttribute("aria-current");
    expect(window.location.hash).toBe("#/providers");

    await userEvent.click(screen.getByTestId("nav-settings"));
    expect(screen.getByTestId("page-title")).toHaveTextContent(/^Settings$/);
    expect(screen.getByTestId("page-not-built")).toHaveTextContent(/^Settings — not built yet\. This page will/);
  });

  it("opens the page named in the URL hash", () => {
    window.location.hash = "#/logs";
    render(<App />);
    expect(screen.getByTestId("page-title")).toHaveTextContent("Logs");
  });

  it("shows no made-up data on any page", async () => {
    render(<App />);
    for (const name of NAV) {
      await userEvent.click(screen.getByTestId(`nav-${name.toLowerCase()}`));
      const main = screen.getByRole("main");
      expect(main).toHaveTextContent(`${name} — not built yet.`);
      expect(main.textContent).not.toMatch(/\d/);
      expect(within(main).queryAllByRole("table")).toHaveLength(0);
      expect(within(main).queryAllByRole("listitem")).toHaveLength(0);
    }
  });
});
