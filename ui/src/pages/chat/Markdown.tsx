// Model output as Markdown, safely: GFM tables, code with highlighting and a copy button, KaTeX math. Raw HTML
// in the text is never rendered (no rehype-raw), images are shown as their description only (nothing is fetched),
// and links are not navigable elements: a click hands an http(s) URL to the backend, which opens the system
// browser. Anything else (javascript:, data:, file:, relative) is plain text.
import { memo, useRef, useState, type ReactElement, type ReactNode } from "react";
import ReactMarkdown, { type Components } from "react-markdown";
import rehypeHighlight from "rehype-highlight";
import rehypeKatex from "rehype-katex";
import remarkGfm from "remark-gfm";
import remarkMath from "remark-math";

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

const components: Components = {
  a: ({ href, children }) => <Link href={href}>{children}</Link>,
  img: ({ alt }) => <span className="md-image">[image{alt ? `: ${alt}` : ""}]</span>,
  pre: ({ children }) => <CodeBlock>{children}</CodeBlock>,
};

const remarkPlugins = [remarkGfm, remarkMath];
const rehypePlugins = [rehypeKatex, [rehypeHighlight, { detect: false }]] as Parameters<
  typeof ReactMarkdown
>[0]["rehypePlugins"];

/** Keeps only http(s) URLs; the rest become empty (and render as dead links). */
function urlTransform(url: string): string {
  return safeHref(url) ?? "";
}

export const Markdown = memo(function Markdown({ text }: { text: string }): ReactElement {
  return (
    <div className="markdown">
      <ReactMarkdown
        remarkPlugins={remarkPlugins}
        rehypePlugins={rehypePlugins}
        components={components}
        urlTransform={urlTransform}
        skipHtml
      >
        {text}
      </ReactMarkdown>
    </div>
  );
});
