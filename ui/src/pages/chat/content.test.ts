import { describe, expect, it } from "vitest";

import { formatCost, splitStable } from "./content";

describe("splitStable", () => {
  it("cuts at blank lines, never inside code or math", () => {
    const text = "Intro.\n\n```js\na();\n\nb();\n```\n\n$$\nx\n\ny\n$$\n\nLast para";
    const parts = splitStable(text);
    expect(parts).toEqual(["Intro.", "```js\na();\n\nb();\n```", "$$\nx\n\ny\n$$", "Last para"]);
  });

  it("keeps finished pieces identical as the text grows", () => {
    const a = splitStable("One.\n\nTwo is gro");
    const b = splitStable("One.\n\nTwo is growing.\n\nThree");
    expect(a[0]).toBe(b[0]);
    expect(b).toEqual(["One.", "Two is growing.", "Three"]);
    expect(splitStable("")).toEqual([""]);
    expect(splitStable("no breaks at all")).toEqual(["no breaks at all"]);
  });
});

describe("formatCost", () => {
  it("shows small and unknown costs honestly", () => {
    expect(formatCost(null)).toBe("cost unknown");
    expect(formatCost(0)).toBe("$0");
    expect(formatCost(0.00001)).toBe("<$0.0001");
    expect(formatCost(0.01234)).toBe("$0.0123");
    expect(formatCost(2.5)).toBe("$2.50");
  });
});
