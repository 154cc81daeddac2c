import type { ReactElement } from "react";

import logoUrl from "../assets/logo.svg";
import { PAGES, type PageId } from "../pages/pages";

interface SidebarProps {
  current: PageId;
  onSelect: (page: PageId) => void;
}

export function Sidebar({ current, onSelect }: SidebarProps): ReactElement {
  return (
    <aside className="sidebar">
      <div className="brand">
        <img className="brand-logo" src={logoUrl} alt="" width={28} height={28} />
        <span className="brand-name">Switchboard</span>
      </div>
      <nav className="nav" aria-label="Main">
        {PAGES.map(({ id, title, icon: PageIcon }) => (
          <button
            key={id}
            type="button"
            className="nav-item"
            data-testid={`nav-${id}`}
            aria-current={id === current ? "page" : undefined}
            onClick={() => onSelect(id)}
          >
            <PageIcon className="nav-icon" />
            <span>{title}</span>
          </button>
        ))}
      </nav>
    </aside>
  );
}
