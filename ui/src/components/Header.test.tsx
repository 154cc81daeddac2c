import { act, render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it, vi } from "vitest";

import {
  answer,
  core,
  emit,
  event,
  keychainLocked,
  listenerCount,
  listening,
  portTaken,
  resetTauriMocks,
} from "../test/tauri-mocks";
import { Header } from "./Header";

vi.mock("@tauri-apps/api/core", async () => (await import("../test/tauri-mocks")).core);
vi.mock("@tauri-apps/api/event", async () => (await import("../test/tauri-mocks")).event);

beforeEach(() => {
  resetTauriMocks();
});

describe("Header", () => {
  it("shows the endpoint and Listening from the backend's status", async () => {
    answer({ gateway_status: () => Promise.resolve({ ...listening, endpoint: "http://127.0.0.1:9999/v1" }) });
    render(<Header />);

    await waitFor(() => {
      expect(screen.getByTestId("gateway-status")).toHaveTextContent(/^Listening$/);
    });
    expect(screen.getByTestId("endpoint").textContent).toBe("http://127.0.0.1:9999/v1");
    expect(core.invoke).toHaveBeenCalledWith("gateway_status", undefined);
    expect(screen.queryByTestId("gateway-error")).not.toBeInTheDocument();
  });

  it("warns when the keychain can't be used, and says how to fix it", async () => {
    answer({ gateway_status: () => Promise.resolve(keychainLocked) });
    render(<Header />);

    const banner = await screen.findByTestId("keychain-error");
    expect(banner).toHaveTextContent("the Secret Service is not available");
    expect(banner).toHaveTextContent("start gnome-keyring or KWallet, then restart Switchboard");
    expect(screen.getByTestId("gateway-status")).toHaveTextContent("Listening");

    act(() => {
      emit("gateway-status", listening);
    });
    expect(screen.queryByTestId("keychain-error")).not.toBeInTheDocument();
  });

  it("says Starting… until the first answer arrives", async () => {
    let reply: (s: unknown) => void = () => undefined;
    answer({ gateway_status: () => new Promise((resolve) => (reply = resolve)) });
    render(<Header />);

    expect(screen.getByTestId("gateway-status")).toHaveTextContent("Starting…");
    expect(screen.getByTestId("copy-endpoint")).toBeDisabled();

    await act(async () => {
      reply(listening);
      await Promise.resolve();
    });
    expect(screen.getByTestId("gateway-status")).toHaveTextContent("Listening");
  });

  it("shows the error and its fix when the gateway failed", async () => {
    answer({ gateway_status: () => Promise.resolve(portTaken) });
    render(<Header />);

    const banner = await screen.findByTestId("gateway-error");
    expect(banner).toHaveTextContent("port 7352 is already in use");
    expect(banner).toHaveTextContent("quit the other program using port 7352 or pick another port in Settings");
    expect(screen.getByTestId("gateway-status")).toHaveTextContent("Not listening");
  });

  it("follows gateway-status events, and they win over a late first answer", async () => {
    let reply: (s: unknown) => void = () => undefined;
    answer({ gateway_status: () => new Promise((resolve) => (reply = resolve)) });
    render(<Header />);
    await waitFor(() => {
      expect(listenerCount("gateway-status")).toBe(1);
    });

    act(() => {
      emit("gateway-status", portTaken);
    });
    expect(screen.getByTestId("gateway-error")).toHaveTextContent("port 7352 is already in use");

    await act(async () => {
      reply(listening);
      await Promise.resolve();
    });
    expect(screen.getByTestId("gateway-status")).toHaveTextContent("Not listening");

    act(() => {
      emit("gateway-status", listening);
    });
    expect(screen.getByTestId("gateway-status")).toHaveTextContent("Listening");
    expect(screen.queryByTestId("gateway-error")).not.toBeInTheDocument();
  });

  it("stops listening when unmounted", async () => {
    answer({ gateway_status: () => Promise.resolve(listening) });
    const { unmount } = render(<Header />);
    await waitFor(() => {
      expect(listenerCount("gateway-status")).toBe(1);
    });
    unmount();
    expect(listenerCount("gateway-status")).toBe(0);
  });

  it("copies through the backend and says Copied for a moment", async () => {
    answer({
      gateway_status: () => Promise.resolve(listening),
      copy_endpoint: () => Promise.resolve(null),
    });
    render(<Header />);
    const button = screen.getByTestId("copy-endpoint");
    await waitFor(() => {
      expect(button).toBeEnabled();
    });

    await userEvent.click(button);

    expect(core.invoke).toHaveBeenCalledWith("copy_endpoint", undefined);
    expect(button).toHaveTextContent("Copied");
    await waitFor(
      () => {
        expect(button).toHaveTextContent(/^Copy$/);
      },
      { timeout: 2500 },
    );
  });

  it("says so when copying fails", async () => {
    answer({
      gateway_status: () => Promise.resolve(listening),
      copy_endpoint: () => Promise.reject({ kind: "clipboard", message: "clipboard unavailable" }),
    });
    const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
    render(<Header />);
    const button = screen.getByTestId("copy-endpoint");
    await waitFor(() => {
      expect(button).toBeEnabled();
    });

    await userEvent.click(button);

    expect(button).toHaveTextContent("Couldn’t copy");
    expect(warn).toHaveBeenCalledWith("copy_endpoint failed:", "clipboard unavailable");
  });

  it("explains itself outside the app instead of crashing", async () => {
    core.isTauri.mockReturnValue(false);
    event.listen.mockImplementationOnce(() => Promise.reject(new Error("window.__TAURI_INTERNALS__ is undefined")));
    render(<Header />);

    expect(await screen.findByTestId("ipc-problem")).toHaveTextContent("Not running inside the Switchboard app");
    expect(screen.getByTestId("gateway-status")).toHaveTextContent("Starting…");
    expect(core.invoke).not.toHaveBeenCalled();
  });
});
