// Model output as Markdown, safely: GFM tables, code with highlighting and a copy button, KaTeX math. Raw HTML
// in the text is dropped before it becomes a tree (remark-rehype without `allowDangerousHtml`; no rehype-raw),
// event-handler properties are stripped from whatever the plugins produce, images are shown as their description
// only (nothing is fetched), and links are not navigable elements: a click hands an http(s) URL to the backend,
// which opens the system browser. Anything else (javascript:, data:, file:, relative) is plain text.
//
// One unified processor is built once for the module: building it per render (as react-markdown does) costs more
// than the parse itself, mostly the highlighter's grammars, and a streaming answer renders many times a second.
import type { Element, Root, RootContent } from "hast";
import { toJsxRuntime, type Components } from "hast-util-to-jsx-runtime";
import { memo, useMemo, useRef, useState, type ReactElement, type ReactNode } from "react";
import { Fragment, jsx, jsxs } from "react/jsx-runtime";
import rehypeHighlight from "rehype-highlight";
import rehypeKatex from "rehype-katex";
import remarkGfm from "remark-gfm";
import remarkMath from "remark-math";
import remarkParse from "remark-parse";
import remarkRehype from "remark-rehype";
import { unified } from "unified";

import "katex/dist/katex.min.css";

import { openLink } from "../../api/chat";
import { copyText } from "../../components/clipboard";
import { safeHref } from "./content";

function Link({ href, children }: { href?: string; children?: ReactNode }): ReactElement {
  const url = safeHref(href);
  if (!url) return <span className="md-link md-link--dead">{children}</span>;
  const open = () => void openLink(url).catch(() => undefined);
  return (
    <a
      className="md-link"
      role="link"
      tabIndex={0}
      title={url}
      onClick={(e) => {
        e.preventDefault();
        open();
      }}
      onKeyDown={(e) => {
        if (e.key === "Enter") open();
      }}
    >
      {children}
    </a>
  );
}

function CodeBlock({ children }: { children?: ReactNode }): ReactElement {
  const ref = useRef<HTMLPreElement>(null);
  const [copied, setCopied] = useState(false);
  async function copy(): Promise<void> {
    if (await copyText(ref.current?.textContent ?? "")) {
      setCopied(true);
      window.setTimeout(() => setCopied(false), 1500);
    }
  }
  return (
    <div className="code-block">
      <button type="button" className="code-copy" data-testid="code-copy" onClick={() => void copy()}>
        {copied ? "Copied" : "Copy"}
      </button>
      <pre ref={ref}>{children}</pre>
    </div>
  );
}

const components: Partial<Components> = {
  a: ({ href, children }: { href?: string; children?: ReactNode }) => <Link href={href}>{children}</Link>,
  img: ({ alt }: { alt?: string }) => <span className="md-image">[image{alt ? `: ${alt}` : ""}]</span>,
  pre: ({ children }: { children?: ReactNode }) => <CodeBlock>{children}</CodeBlock>,
};

const processor = unified()
  .use(remarkParse)
  .use(remarkGfm)
  .use(remarkMath)
  .use(remarkRehype)
  .use(rehypeKatex)
  .use(rehypeHighlight, { detect: false });

/** Drops every `on…` property anywhere in the tree (defence in depth: nothing above should make one). */
function stripHandlers(node: Root | RootContent): void {
  if (node.type === "element") {
    const element: Element = node;
    element.properties = Object.fromEntries(
      Object.entries(element.properties).filter(([key]) => !key.toLowerCase().startsWith("on")),
    );
  }
  if ("children" in node) for (const child of node.children) stripHandlers(child);
}

/** The rendered tree of `text`. */
function renderMarkdown(text: string): ReactElement {
  const tree = processor.runSync(processor.parse(text));
  stripHandlers(tree);
  // The library types its result as the global `JSX.Element`, which React 19's types no longer declare.
  return toJsxRuntime(tree, {
    Fragment,
    jsx,
    jsxs,
    components,
    ignoreInvalidStyle: true,
    passKeys: true,
  }) as ReactElement;
}

export const Markdown = memo(function Markdown({ text }: { text: string }): ReactElement {
  const rendered = useMemo(() => renderMarkdown(text), [text]);
  return <div className="markdown">{rendered}</div>;
});
