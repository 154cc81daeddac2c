// The Settings page's configuration import, in words: what a preview says will change. Plain functions, tested
// without React.
import type { ChangeCounts } from "../api/generated/ChangeCounts";
import type { ImportPreview } from "../api/generated/ImportPreview";

/** "2 added, 1 changed, 1 removed" (what stays the same is left out); "no change" when nothing moves. */
export function describeCounts(c: ChangeCounts): string {
  const parts = [
    c.added > 0 ? `${c.added} added` : null,
    c.changed > 0 ? `${c.changed} changed` : null,
    c.removed > 0 ? `${c.removed} removed` : null,
  ].filter((p): p is string => p !== null);
  return parts.length > 0 ? parts.join(", ") : "no change";
}

/** One line per kind of item, in the order the page shows them. */
export function previewLines(p: ImportPreview): { label: string; text: string }[] {
  return [
    { label: "Providers", text: describeCounts(p.providers) },
    { label: "Aliases", text: describeCounts(p.aliases) },
    { label: "Apps", text: describeCounts(p.apps) },
    { label: "Settings", text: p.settingsChanged ? "changed" : "no change" },
  ];
}

/** Whether applying the file would change anything at all. */
export function changesAnything(p: ImportPreview): boolean {
  const moved = (c: ChangeCounts) => c.added + c.changed + c.removed > 0;
  return moved(p.providers) || moved(p.aliases) || moved(p.apps) || p.settingsChanged;
}

/** What the user must do after the import: keys this computer lacks, tokens of new apps. */
export function followUps(p: ImportPreview): string[] {
  const keys = p.missingKeys.map((k) =>
    k.label === "default"
      ? `${k.provider}: its key is not in this computer's keychain; add the key on the Providers page.`
      : `${k.provider}: the key “${k.label}” is not in this computer's keychain; add the key on the Providers page.`,
  );
  const apps = p.appsNeedingToken.map(
    (name) => `${name}: a new app; rotate its token on the Apps page and give the new token to the app.`,
  );
  return [...keys, ...apps];
}

/** "1 app", "3 aliases". */
export function countOf(n: number, singular: string, plural = `${singular}s`): string {
  return `${n} ${n === 1 ? singular : plural}`;
}
