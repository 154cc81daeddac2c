import type { ComponentType, SVGProps } from "react";

import {
  AliasesIcon,
  AppsIcon,
  ChatIcon,
  ClientsIcon,
  LogsIcon,
  ProvidersIcon,
  SettingsIcon,
  UsageIcon,
} from "../components/icons";

export type PageId = "chat" | "providers" | "aliases" | "apps" | "clients" | "usage" | "logs" | "settings";

export interface PageInfo {
  id: PageId;
  title: string;
  icon: ComponentType<SVGProps<SVGSVGElement>>;
  /** One honest sentence: what the page will do once it is built. */
  willDo: string;
}

/** Sidebar order. */
export const PAGES: readonly PageInfo[] = [
  {
    id: "chat",
    title: "Chat",
    icon: ChatIcon,
    willDo: "This page will let you talk to any of your models through the same routing your other tools use.",
  },
  {
    id: "providers",
    title: "Providers",
    icon: ProvidersIcon,
    willDo: "This page will let you add providers, store their keys in the OS keychain and test them.",
  },
  {
    id: "aliases",
    title: "Aliases",
    icon: AliasesIcon,
    willDo:
      "This page will let you give a model a short name and route it to an ordered list of providers, with fallbacks.",
  },
  {
    id: "apps",
    title: "Apps",
    icon: AppsIcon,
    willDo: "This page will let you give each tool its own app token, see which tools use the gateway and revoke them.",
  },
  {
    id: "clients",
    title: "Clients",
    icon: ClientsIcon,
    willDo: "This page will point Claude Code, Codex and your other tools at Switchboard, and check they work.",
  },
  {
    id: "usage",
    title: "Usage",
    icon: UsageIcon,
    willDo: "This page will show tokens and cost by provider, model and app over time, and let you set budgets.",
  },
  {
    id: "logs",
    title: "Logs",
    icon: LogsIcon,
    willDo: "This page will list recent requests with their route, status and latency — never your keys.",
  },
  {
    id: "settings",
    title: "Settings",
    icon: SettingsIcon,
    willDo:
      "This page will let you change the port, start Switchboard at login and import or export your configuration.",
  },
];

export const DEFAULT_PAGE: PageId = "chat";

export function isPageId(value: string): value is PageId {
  return PAGES.some((p) => p.id === value);
}

export function pageInfo(id: PageId): PageInfo {
  const page = PAGES.find((p) => p.id === id);
  if (!page) throw new Error(`no page called ${id}`);
  return page;
}
