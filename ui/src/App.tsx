import { useEffect, useState, type ReactElement } from "react";

import { Header } from "./components/Header";
import { Sidebar } from "./components/Sidebar";
import { NotBuiltPage } from "./pages/NotBuiltPage";
import { DEFAULT_PAGE, isPageId, pageInfo, type PageId } from "./pages/pages";

/** `#/providers` → "providers"; anything unknown → the default page. */
function pageFromHash(hash: string): PageId {
  const id = hash.replace(/^#\/?/, "");
  return isPageId(id) ? id : DEFAULT_PAGE;
}

export function App(): ReactElement {
  const [pageId, setPageId] = useState<PageId>(() => pageFromHash(window.location.hash));

  useEffect(() => {
    const onHashChange = () => setPageId(pageFromHash(window.location.hash));
    window.addEventListener("hashchange", onHashChange);
    return () => window.removeEventListener("hashchange", onHashChange);
  }, []);

  function select(id: PageId): void {
    setPageId(id);
    window.history.replaceState(null, "", `#/${id}`);
  }

  const page = pageInfo(pageId);

  return (
    <div className="app">
      <Sidebar current={page.id} onSelect={select} />
      <div className="main">
        <Header />
        <main className="content">
          <NotBuiltPage key={page.id} page={page} />
        </main>
      </div>
    </div>
  );
}
