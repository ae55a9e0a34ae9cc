// HTML checks the page tests share.

/** Every element closed in order (void elements excepted): the page is well-formed. */
export function assertWellFormedHtml(html: string): void {
  const voids = new Set(['meta', 'br', 'img', 'input', 'link', 'hr']);
  const stack: string[] = [];
  const body = html.replace(/<!DOCTYPE html>/i, '').replace(/<style>[\s\S]*?<\/style>/g, '<style></style>').replace(/<title>[^<]*<\/title>/g, '<title></title>');
  for (const match of body.matchAll(/<(\/?)([a-zA-Z][a-zA-Z0-9]*)([^>]*?)(\/?)>/g)) {
    const [, closing, rawName, attrs, selfClosing] = match as unknown as [string, string, string, string, string];
    const name = rawName.toLowerCase();
    if (/[<]/.test(attrs)) throw new Error(`unescaped < inside <${name}>`);
    if (closing) {
      const open = stack.pop();
      if (open !== name) throw new Error(`</${name}> closes <${open ?? 'nothing'}>`);
    } else if (!selfClosing && !voids.has(name)) {
      stack.push(name);
    }
  }
  if (stack.length > 0) throw new Error(`unclosed: ${stack.join(', ')}`);
}
