import { fireEvent, render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";

import type { Block } from "../../api/chat";
import { Composer } from "./Composer";

function setup(busy = false) {
  const onSend = vi.fn<(blocks: Block[]) => void>();
  const onStop = vi.fn();
  render(
    <Composer
      busy={busy}
      disabled={false}
      draft={{ text: "", attachments: [], key: 0 }}
      editing={false}
      onSend={onSend}
      onStop={onStop}
      onCancelEdit={() => undefined}
    />,
  );
  return { onSend, onStop };
}

describe("Composer", () => {
  it("sends on Enter and adds a line on Shift+Enter", async () => {
    const { onSend } = setup();
    const input = screen.getByTestId("composer-input");
    await userEvent.type(input, "first line{Shift>}{Enter}{/Shift}second line");
    expect(onSend).not.toHaveBeenCalled();
    expect(input).toHaveValue("first line\nsecond line");
    await userEvent.type(input, "{Enter}");
    expect(onSend).toHaveBeenCalledWith([{ type: "text", text: "first line\nsecond line" }]);
    expect(input).toHaveValue("");
    // Nothing to send: Enter does nothing.
    await userEvent.type(input, "{Enter}");
    expect(onSend).toHaveBeenCalledTimes(1);
  });

  it("attaches text files and images from the picker and from paste", async () => {
    const { onSend } = setup();
    const picker = screen.getByTestId("composer-file");
    const notes = new File(["some notes"], "notes.txt", { type: "text/plain" });
    const image = new File([new Uint8Array([137, 80, 78, 71])], "dot.png", { type: "image/png" });
    await userEvent.upload(picker, [notes, image]);
    await waitFor(() => expect(screen.getByTestId("attachments")).toHaveTextContent("notes.txt"));
    const pasted = new File(["pasted"], "clip.md", { type: "text/markdown" });
    fireEvent.paste(screen.getByTestId("composer-input"), { clipboardData: { files: [pasted] } });
    await waitFor(() => expect(screen.getByTestId("attachments")).toHaveTextContent("clip.md"));
    fireEvent.click(screen.getByTestId("composer-send"));
    expect(onSend).toHaveBeenCalledWith([
      { type: "file", name: "notes.txt", text: "some notes" },
      { type: "image", mediaType: "image/png", data: "iVBORw==", name: "dot.png" },
      { type: "file", name: "clip.md", text: "pasted" },
    ]);
  });

  it("offers Stop instead of Send while an answer streams", () => {
    const { onStop } = setup(true);
    expect(screen.queryByTestId("composer-send")).not.toBeInTheDocument();
    fireEvent.click(screen.getByTestId("composer-stop"));
    expect(onStop).toHaveBeenCalled();
  });
});
