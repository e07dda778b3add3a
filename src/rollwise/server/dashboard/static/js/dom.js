// Building DOM nodes from data: every value from the API becomes a text node, never markup.

const SVG_NS = "http://www.w3.org/2000/svg";

function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function apply(node, attrs) {
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      node.addEventListener(name.slice(2), value);
    } else if (name === "dataset") {
      Object.assign(node.dataset, value);
    } else {
      node.setAttribute(name, value === true ? "" : String(value));
    }
  }
  return node;
}

/** h("a", {href: "#/x", class: "link"}, "text", child, [more]) */
export function h(tag, attrs, ...children) {
  return append(apply(document.createElement(tag), attrs), children);
}

/** The same for SVG elements. */
export function s(tag, attrs, ...children) {
  return append(apply(document.createElementNS(SVG_NS, tag), attrs), children);
}

/** Replace every child of ``node``. */
export function fill(node, ...children) {
  node.replaceChildren();
  return append(node, children);
}

/** A status word as a badge: the word itself is the label, the colour only repeats it. */
export function badge(word, kind) {
  const text = String(word ?? "unknown");
  return h("span", {class: `badge badge-${kind || text.replace(/[^a-z_]/gi, "")}`}, text);
}
