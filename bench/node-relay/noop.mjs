// A handler that does nothing: what the runtime loop alone costs per invocation.
export const handler = async () => ({ statusCode: 200, headers: { "content-type": "application/json" }, body: "{}" });
