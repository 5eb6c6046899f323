// An offline stand-in for axe-core's colour-contrast and label rules (WCAG 2.1 AA), run in the page:
// returns a list of violations (strings). Text: 4.5:1, or 3:1 when large (>= 24px, or >= 18.66px bold).
// Borders of form fields: 3:1 against what surrounds them (1.4.11 non-text contrast). Every form field
// has a label; the page has a skip link to #main.
() => {
  const violations = [];
  const parse = (value) => {
    const m = value.match(/rgba?\(([^)]+)\)/);
    if (!m) return null;
    const parts = m[1].split(/[ ,/]+/).filter(Boolean).map(Number);
    return { r: parts[0], g: parts[1], b: parts[2], a: parts.length > 3 ? parts[3] : 1 };
  };
  const blend = (top, bottom) => ({
    r: top.r * top.a + bottom.r * (1 - top.a),
    g: top.g * top.a + bottom.g * (1 - top.a),
    b: top.b * top.a + bottom.b * (1 - top.a),
    a: 1,
  });
  const lum = (c) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b);
  };
  const ratio = (a, b) => { const x = lum(a), y = lum(b); return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05); };
  const background = (el) => {
    // The first opaque background up the tree, with translucent ones blended over it.
    const layers = [];
    for (let node = el; node && node.nodeType === 1; node = node.parentElement) {
      const c = parse(getComputedStyle(node).backgroundColor);
      if (c && c.a > 0) { layers.push(c); if (c.a >= 1) break; }
    }
    let result = { r: 255, g: 255, b: 255, a: 1 };
    for (let i = layers.length - 1; i >= 0; i--) result = blend(layers[i], result);
    return result;
  };
  const visible = (el) => {
    const s = getComputedStyle(el);
    const box = el.getBoundingClientRect();
    return s.visibility !== "hidden" && s.display !== "none" && box.width > 0 && box.height > 0 && Number(s.opacity) > 0.1;
  };
  const describe = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
    (el.className && typeof el.className === "string" ? "." + el.className.trim().split(/\s+/).join(".") : "");

  // 1. Text contrast, for every element that directly holds text.
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const seen = new Set();
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (!node.textContent.trim() || seen.has(el) || el.closest("svg, script, style, noscript, option, .skip-link")) continue;
    seen.add(el);
    if (!visible(el) || el.closest("[disabled]")) continue;
    const s = getComputedStyle(el);
    const fg = parse(s.color);
    const bg = background(el);
    const size = parseFloat(s.fontSize);
    const large = size >= 24 || (size >= 18.66 && Number(s.fontWeight) >= 700);
    const need = large ? 3 : 4.5;
    const got = ratio(blend(fg, bg), bg);
    if (got < need) violations.push(`text ${describe(el)} "${node.textContent.trim().slice(0, 30)}": ${got.toFixed(2)}:1 < ${need}:1`);
  }
  // 2. Form fields: a label each, and borders that stand out.
  for (const field of document.querySelectorAll("input, select, textarea")) {
    if (field.type === "hidden" || !visible(field)) continue;
    const labelled = (field.labels && field.labels.length) || field.getAttribute("aria-label") ||
      field.getAttribute("aria-labelledby") || field.type === "submit" || field.type === "button";
    if (!labelled) violations.push(`field ${describe(field)} has no label`);
    if (["checkbox", "radio", "range", "submit", "button", "file"].includes(field.type)) continue;
    const s = getComputedStyle(field);
    const border = parse(s.borderTopColor);
    const around = background(field.parentElement);
    const inside = background(field);
    if (parseFloat(s.borderTopWidth) > 0 && border && border.a > 0) {
      const got = Math.max(ratio(border, around), ratio(border, inside));
      if (got < 3) violations.push(`border of ${describe(field)}: ${got.toFixed(2)}:1 < 3:1`);
    }
  }
  // 3. The skip link.
  const skip = document.querySelector("a.skip-link[href='#main']");
  if (!skip || !document.getElementById("main")) violations.push("no skip link to #main");
  return violations;
}
