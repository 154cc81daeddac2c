import type { Theme } from "../api/generated/Theme";

const DARK = "(prefers-color-scheme: dark)";
let chosen: Theme = "system";
let following: MediaQueryList | null = null;

function resolve(theme: Theme): "light" | "dark" {
  if (theme !== "system") return theme;
  return typeof window.matchMedia === "function" && window.matchMedia(DARK).matches ? "dark" : "light";
}

function paint(): void {
  document.documentElement.dataset.theme = resolve(chosen);
}

/** Applies `theme` to the document (`data-theme` on <html>); `system` follows the OS, including later changes. */
export function applyTheme(theme: Theme): void {
  chosen = theme;
  if (!following && typeof window.matchMedia === "function") {
    following = window.matchMedia(DARK);
    following.addEventListener("change", paint);
  }
  paint();
}
