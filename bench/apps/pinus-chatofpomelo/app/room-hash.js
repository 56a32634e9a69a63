// A string's hash for routing (rooms to chat servers, users to connectors): FNV-1a, 32 bits.
'use strict';
exports.roomHash = function roomHash(text) {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
};
