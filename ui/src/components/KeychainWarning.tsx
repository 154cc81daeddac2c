import type { ReactElement } from "react";

import type { GatewayError } from "../api/types";
import { AlertIcon } from "./icons";

/** The OS keychain can't be used: keys can't be saved or read until the user fixes it. */
export function KeychainWarning({
  error,
  testId,
  compact = false,
}: {
  error: GatewayError;
  testId: string;
  /** Inside a form rather than under the header. */
  compact?: boolean;
}): ReactElement {
  return (
    <div className={compact ? "banner banner--warning banner--inline" : "banner banner--warning"} role="alert" data-testid={testId}>
      <AlertIcon className="banner-icon" />
      <div>
        <p className="banner-title">Keys can’t be stored: {error.message}</p>
        <p className="banner-body">{error.fix}</p>
      </div>
    </div>
  );
}
