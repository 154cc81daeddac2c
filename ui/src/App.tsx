import { useEffect, useState, type ReactElement } from "react";

import { Header } from "./components/Header";
import { Sidebar } from "./components/Sidebar";
import { AliasesPage } from "./pages/AliasesPage";
import { AppsPage } from "./pages/AppsPage";
import { ChatPage } from "./pages/chat/ChatPage";
import { ClientsPage } from "./pages/ClientsPage";
import { LogsPage } from "./pages/LogsPage";
import { NotBuiltPage } from "./pages/NotBuiltPage";
import { DEFAULT_PAGE, isPageId, pageInfo, type PageId, type PageInfo } from "./pages/pages";
import { ProvidersPage } from "./pages/ProvidersPage";
import { SettingsPage } from "./pages/SettingsPage";
import { UsagePage } from "./pages/UsagePage";

/** `#/providers` → "providers"; anything unknown → the default page. */
function pageFromHash(hash: string): PageId {
  const id = hash.replace(/^#\/?/, "");
  return isPageId(id) ? id : DEFAULT_PAGE;
}

function Page({ page }: { page: PageInfo }): ReactElement {
  switch (page.id) {
    case "providers":
      return <ProvidersPage />;
    case "aliases":
      return <AliasesPage />;
    case "apps":
      return <AppsPage />;
    case "clients":
      return <ClientsPage />;
    case "chat":
      return <ChatPage />;
    case "usage":
      return <UsagePage />;
    case "logs":
      return <LogsPage />;
    case "settings":
      return <SettingsPage />;
    default:
      return <NotBuiltPage page={page} />;
  }
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
          <Page key={page.id} page={page} />
        </main>
      </div>
    </div>
  );
}
