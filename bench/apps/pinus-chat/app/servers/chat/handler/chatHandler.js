// `chat.chatHandler.send` on the chat backend: the connector forwards the request here (pinus's
// sys RPC), the answer goes back the same way. A small JSON response, like Shaddock's handler.
'use strict';

class ChatHandler {
  constructor(app) {
    this.app = app;
  }

  async send(msg, session) {
    return { code: 200, route: 'onChat', from: this.app.getServerId(), echo: msg.content };
  }
}

// pinus-loader calls a default export that is a function with the app, and names the handler
// after the file: chatHandler.
exports.default = function (app) {
  return new ChatHandler(app);
};
