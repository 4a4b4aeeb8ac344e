// Building DOM nodes. Text goes in as text nodes only (never parsed as HTML), so what a task carries cannot become
// markup on the page.

type Child = Node | string

export const el = <K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Readonly<Record<string, string>> = {},
  ...children: ReadonlyArray<Child>
): HTMLElementTagNameMap[K] => {
  const node = document.createElement(tag)
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value)
  node.append(...children)
  return node
}

/** The element with `id`, which the page must have, of the given kind. */
export const byId = <T extends HTMLElement>(id: string, kind: new () => T): T => {
  const node = document.getElementById(id)
  if (!(node instanceof kind)) throw new Error(`the page has no ${kind.name} #${id}`)
  return node
}

/** Replaces the children of `parent` with `children`. */
export const fill = (parent: Element, ...children: ReadonlyArray<Child>) => parent.replaceChildren(...children)

/** A time of day from an ISO timestamp, in the viewer's locale. */
export const timeOf = (iso: string | null) => (iso === null ? "" : new Date(iso).toLocaleTimeString())
