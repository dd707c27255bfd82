// The Lambda runtime loop for the benchmark, as the managed Node.js runtime does it: load the
// handler module during init (`_HANDLER` names `submit`, `lookup` or `noop`), then ask the
// Runtime API for one event at a time and post each result back. Keep-alive, one socket.
import http from "node:http";

const [hostname, port] = process.env.AWS_LAMBDA_RUNTIME_API.split(":");
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const base = "/2018-06-01/runtime";

function call(method, path, body) {
  return new Promise((resolve, reject) => {
    const headers = body === undefined ? {} : { "content-type": "application/json", "content-length": Buffer.byteLength(body) };
    const req = http.request({ hostname, port, method, path: base + path, agent, headers }, (res) => {
      const chunks = [];
      res.on("data", (chunk) => chunks.push(chunk));
      res.on("end", () => resolve({ headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}

function errorBody(error) {
  return JSON.stringify({ errorType: error?.name ?? "Error", errorMessage: String(error?.message ?? error) });
}

let handler;
try {
  ({ handler } = await import(`./${process.env._HANDLER}.mjs`));
} catch (error) {
  await call("POST", "/init/error", errorBody(error));
  process.exit(1);
}

for (;;) {
  const next = await call("GET", "/invocation/next");
  const requestId = next.headers["lambda-runtime-aws-request-id"];
  const deadline = Number(next.headers["lambda-runtime-deadline-ms"]);
  const context = {
    awsRequestId: requestId,
    invokedFunctionArn: next.headers["lambda-runtime-invoked-function-arn"],
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    getRemainingTimeInMillis: () => deadline - Date.now(),
  };
  try {
    const result = await handler(JSON.parse(next.body), context);
    await call("POST", `/invocation/${requestId}/response`, JSON.stringify(result));
  } catch (error) {
    await call("POST", `/invocation/${requestId}/error`, errorBody(error));
  }
}
