/**
 * A minimal server-sent-events reader (the `data:` part of the EventSource format): yields the
 * data of each event, multi-line data joined with "\n". Comments (`:`), `event:`, `id:` and
 * `retry:` lines are ignored — HopX's metrics stream carries everything in `data: {json}`.
 */
export async function* sseData(body: AsyncIterable<Uint8Array>): AsyncIterable<string> {
  const decoder = new TextDecoder();
  let buffer = '';
  let data: string[] = [];
  const lineEnd = /\r\n|\r|\n/;
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    for (let match = lineEnd.exec(buffer); match; match = lineEnd.exec(buffer)) {
      // A lone \r at the end of the buffer may be the first half of \r\n: wait for more.
      if (match[0] === '\r' && match.index === buffer.length - 1) break;
      const line = buffer.slice(0, match.index);
      buffer = buffer.slice(match.index + match[0].length);
      if (line === '') {
        if (data.length > 0) yield data.join('\n');
        data = [];
      } else if (line.startsWith('data:')) {
        data.push(line.slice(line.startsWith('data: ') ? 6 : 5));
      }
    }
  }
  buffer = (buffer + decoder.decode()).replace(/\r$/, '');
  if (buffer.startsWith('data:')) data.push(buffer.slice(buffer.startsWith('data: ') ? 6 : 5));
  if (data.length > 0) yield data.join('\n');
}
