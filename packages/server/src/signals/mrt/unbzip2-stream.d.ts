declare module 'unbzip2-stream' {
  /** Returns a through-stream that bunzips what is written to it. */
  export default function unbzip2(): NodeJS.ReadWriteStream;
}
