import { type ReactElement, useEffect, useState } from "react";

import { describeModel } from "../../api/aliases";
import type { ModelFacts } from "../../api/generated/ModelFacts";
import { capabilitiesText, priceText } from "./targetFacts";

/** How long typing must pause before the model is looked up. */
const SETTLE_MS = 300;

/** A target's capabilities and price, under its model field. The line keeps its height while it loads, so the
 * editor does not jump as a model id is typed. */
export function TargetFacts(props: { providerId: string; model: string; index: number }): ReactElement {
  const { providerId, model, index } = props;
  const [facts, setFacts] = useState<ModelFacts | null>(null);
  const wanted = providerId !== "" && model.trim() !== "";
  useEffect(() => {
    if (!wanted) return;
    let current = true;
    const timer = window.setTimeout(() => {
      describeModel(providerId, model.trim()).then(
        (found) => current && setFacts(found),
        () => current && setFacts(null),
      );
    }, SETTLE_MS);
    return () => {
      current = false;
      window.clearTimeout(timer);
    };
  }, [providerId, model, wanted]);
  const shown = wanted ? facts : null;
  const capabilities = shown ? capabilitiesText(shown) : "";
  return (
    <span className="field-hint target-facts" data-testid={`target-facts-${index}`}>
      {shown ? [capabilities, priceText(shown)].filter(Boolean).join(" · ") : "\u00a0"}
    </span>
  );
}
