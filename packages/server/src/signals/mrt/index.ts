export * from './bgp.js';
export { asPathText, bgpdumpLines, communitiesText } from './bgpdump.js';
export * from './reader.js';
