import { useState, type ReactElement } from "react";

import type { LocalServerDto } from "../../api/generated/LocalServerDto";
import { toCommandError } from "../../api/invoke";
import { saveProvider } from "../../api/providers";
import type { Preset, Provider } from "../../api/types";
import { FormError } from "../../components/FormError";
import { PlusIcon } from "../../components/icons";
import { localServerInput } from "../providerForm";

interface LocalOfferProps {
  servers: readonly LocalServerDto[];
  presets: readonly Preset[];
  providers: readonly Provider[];
  onAdded: () => void;
}

/** "Found on this computer: Ollama (12 models) — Add": one click adds a local server with its preset, no key. */
export function LocalOffer({ servers, presets, providers, onAdded }: LocalOfferProps): ReactElement | null {
  const [adding, setAdding] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  if (servers.length === 0) return null;

  async function add(server: LocalServerDto): Promise<void> {
    setAdding(server.kind);
    setError(null);
    try {
      await saveProvider(localServerInput(server, presets, providers));
      onAdded();
    } catch (err) {
      setError(`Couldn’t add ${server.name}: ${toCommandError(err).message}`);
    } finally {
      setAdding(null);
    }
  }

  return (
    <section className="local-offer" aria-label="Found on this computer" data-testid="local-offer">
      <strong>Found on this computer:</strong>
      {servers.map((s) => (
        <span key={s.baseUrl} className="button-row">
          <span data-testid={`local-${s.kind}`}>
            {s.name} ({s.models === 1 ? "1 model" : `${s.models} models`})
          </span>
          <button
            type="button"
            className="button"
            onClick={() => void add(s)}
            disabled={adding !== null}
            aria-label={`Add ${s.name} from ${s.baseUrl}`}
            data-testid={`add-local-${s.kind}`}
          >
            <PlusIcon />
            {adding === s.kind ? "Adding…" : "Add"}
          </button>
        </span>
      ))}
      <FormError message={error} testId="local-offer-error" />
    </section>
  );
}
