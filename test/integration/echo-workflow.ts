// The smallest workflow there is: proves a worker took a task over its connection.
export async function echo(text: string): Promise<string> {
  return text;
}
