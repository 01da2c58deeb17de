// Types of `env` from "cloudflare:workers" / "cloudflare:test" for this Worker.
declare namespace Cloudflare {
  interface Env extends EdgeEnvBindings {}
}
type EdgeEnvBindings = import('./config/index').Env;
