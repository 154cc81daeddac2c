// The one line the alias editor shows under a target: what the model can do and what it costs.
import type { ModelFacts } from "../../api/generated/ModelFacts";

/** `128k`, `1M`, `200k`: a token count the way model pages write it. */
export function tokens(n: number): string {
  if (n >= 1_000_000) return `${trim(n / 1_000_000)}M`;
  if (n >= 1_000) return `${trim(n / 1_000)}k`;
  return String(n);
}

function trim(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toFixed(1).replace(/\.0$/, "");
}

/** `$2.50`, `$0.075`: dollars per million tokens with the cents that matter. */
export function dollars(x: number): string {
  return x >= 0.1 || x === 0 ? `$${x.toFixed(2)}` : `$${Number(x.toPrecision(2))}`;
}

/** What the model can do, known facts only (an unknown capability is never shown as missing). */
export function capabilitiesText(facts: ModelFacts): string {
  const parts: string[] = [];
  if (facts.contextWindow) parts.push(`${tokens(facts.contextWindow)} context`);
  if (facts.maxOutput) parts.push(`${tokens(facts.maxOutput)} out`);
  const named: [boolean | null, string][] = [
    [facts.tools, "tools"],
    [facts.vision, "images"],
    [facts.jsonSchema, "JSON schema"],
    [facts.reasoning, "reasoning"],
  ];
  for (const [known, name] of named) {
    if (known === true) parts.push(name);
    if (known === false && name === "tools") parts.push("no tools");
  }
  return parts.join(" · ");
}

/** What a million tokens cost, or why nothing is shown. */
export function priceText(facts: ModelFacts): string {
  if (facts.local) return "free: runs on this computer";
  const price = facts.price;
  if (!price) return "no known price: its requests are recorded without a cost";
  let text = `${dollars(price.input)} in · ${dollars(price.output)} out per M tokens`;
  if (price.cachedInput !== null) text += ` · cached ${dollars(price.cachedInput)}`;
  if (price.overridden) text += " (your price)";
  return text;
}
