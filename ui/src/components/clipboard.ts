/** Puts `text` on the clipboard from the page; `false` when the webview refuses, so the caller can offer a fallback. */
export async function copyText(text: string): Promise<boolean> {
  try {
    // Missing outside a secure context, even though the DOM types say it is always there.
    const clipboard = navigator.clipboard as Clipboard | undefined;
    if (!clipboard) return false;
    await clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}
