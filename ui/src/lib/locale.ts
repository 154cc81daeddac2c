// Some libraries (uPlot) build an `Intl.NumberFormat(navigator.language)` when they load. Under the POSIX "C"
// locale WebKitGTK reports `navigator.language` as "C", which Intl rejects, and the whole UI would fail to start.
// Import this module before such a library: it makes an unusable language read as "en-US".
try {
  new Intl.NumberFormat(navigator.language);
} catch {
  Object.defineProperty(navigator, "language", { configurable: true, get: () => "en-US" });
}

export {};
