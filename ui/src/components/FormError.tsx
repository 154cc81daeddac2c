import type { ReactElement } from "react";

import { AlertIcon } from "./icons";

/** An inline error next to the action that failed; renders nothing without a message. */
export function FormError({ message, testId = "form-error" }: { message: string | null; testId?: string }): ReactElement | null {
  if (!message) return null;
  return (
    <p className="form-error" role="alert" data-testid={testId}>
      <AlertIcon className="form-error-icon" />
      <span>{message}</span>
    </p>
  );
}
