import { fireEvent, render } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { core, resetTauriMocks } from "../../test/tauri-mocks";
import { safeHref } from "./content";
import { Markdown } from "./Markdown";

vi.mock("@tauri-apps/api/core", async () => (await import("../../test/tauri-mocks")).core);

/** Everything hostile model output tends to carry. */
const HOSTILE = [
  "<script>window.__pwned = 1</script>",
  '<img src=x onerror="window.__pwned = 2">',
  "[click me](javascript:window.__pwned=3)",
  "[data](data:text/html,<script>alert(1)</script>)",
  "[file](file:///etc/passwd)",
  '<svg onload="window.__pwned = 4"><script>window.__pwned = 5</script></svg>',
  '<iframe src="javascript:alert(1)"></iframe>',
  '<a href="javascript:alert(1)">raw link</a>',
  '<div style="background:url(javascript:alert(1))" onclick="alert(1)">raw div</div>',
  "![tracker](https://evil.example/pixel.png)",
  "$\\href{javascript:alert(1)}{math link}$",
  '<form action="https://evil.example"><input name=a></form>',
].join("\n\n");

describe("Markdown", () => {
  beforeEach(() => resetTauriMocks());
  afterEach(() => {
    delete (window as unknown as Record<string, unknown>).__pwned;
  });

  it("renders hostile output as inert text", () => {
    const { container } = render(<Markdown text={HOSTILE} />);
    for (const tag of ["script", "img", "svg", "iframe", "form", "input", "object", "embed", "style"]) {
      expect(container.querySelector(tag), tag).toBeNull();
    }
    for (const element of container.querySelectorAll("*")) {
      for (const attribute of element.attributes) {
        expect(attribute.name.startsWith("on"), `${element.tagName} ${attribute.name}`).toBe(false);
        expect(attribute.value.toLowerCase()).not.toContain("javascript:");
      }
    }
    expect(container.querySelectorAll("[href]")).toHaveLength(0);
    expect((window as unknown as Record<string, unknown>).__pwned).toBeUndefined();
    // The dead links and the image keep their words, so nothing silently disappears.
    expect(container.textContent).toContain("click me");
    expect(container.textContent).toContain("[image: tracker]");
  });

  it("opens http(s) links through the backend only when clicked", () => {
    core.invoke.mockResolvedValue(null);
    const { getByText } = render(<Markdown text="See [the docs](https://example.com/a?b=1) and [bad](javascript:x)." />);
    expect(core.invoke).not.toHaveBeenCalled();
    fireEvent.click(getByText("the docs"));
    expect(core.invoke).toHaveBeenCalledWith("open_link", { url: "https://example.com/a?b=1" });
    fireEvent.click(getByText("bad"));
    expect(core.invoke).toHaveBeenCalledTimes(1);
  });

  it("renders tables, highlighted code with a copy button, and math", () => {
    const text = "| a | b |\n|---|---|\n| 1 | 2 |\n\n```rust\nfn main() {}\n```\n\nInline $x^2$ and\n\n$$\\frac{1}{2}$$";
    const { container, getByTestId } = render(<Markdown text={text} />);
    expect(container.querySelector("table td")?.textContent).toBe("1");
    expect(container.querySelector("pre code.language-rust .hljs-keyword")?.textContent).toBe("fn");
    expect(getByTestId("code-copy")).toBeInTheDocument();
    expect(container.querySelectorAll(".katex").length).toBeGreaterThanOrEqual(2);
  });

  it("accepts only absolute http(s) URLs", () => {
    expect(safeHref("https://a.example/x")).toBe("https://a.example/x");
    expect(safeHref("HTTP://a.example")).toBe("http://a.example/");
    for (const bad of ["javascript:alert(1)", " javascript:x", "data:text/html,x", "file:///etc", "/relative", "", null]) {
      expect(safeHref(bad), String(bad)).toBeNull();
    }
  });
});
