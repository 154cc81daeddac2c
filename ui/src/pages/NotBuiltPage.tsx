import type { ReactElement } from "react";

import type { PageInfo } from "./pages";

/** The honest placeholder every page shows until it exists. */
export function NotBuiltPage({ page }: { page: PageInfo }): ReactElement {
  const { title, willDo, icon: PageIcon } = page;
  return (
    <section className="page" aria-labelledby="page-title">
      <h1 id="page-title" className="page-title" data-testid="page-title">
        {title}
      </h1>
      <div className="placeholder">
        <div className="placeholder-icon">
          <PageIcon width={22} height={22} />
        </div>
        <p className="placeholder-text" data-testid="page-not-built">
          <strong>{title} — not built yet.</strong> {willDo}
        </p>
      </div>
    </section>
  );
}
