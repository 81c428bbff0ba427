// The Dockerfile and .dockerignore against the workspaces: npm ci in the image needs every
// workspace's manifest, and every workspace's sources must reach the image, or a component that
// runs fine from the repository fails in its container.
import { readdirSync, existsSync } from 'node:fs';
import t from 'tap';
import { readText, repoPath } from './support/repo.ts';

const dockerfile = readText('Dockerfile');
const dockerignore = readText('.dockerignore').split('\n').map((line) => line.trim());

/** The workspace folders of the root package.json ("packages/*" expanded). */
function workspaces(): string[] {
  const patterns = JSON.parse(readText('package.json')).workspaces as string[];
  return patterns.flatMap((pattern) => {
    if (!pattern.endsWith('/*')) return [pattern];
    const parent = pattern.slice(0, -2);
    return readdirSync(repoPath(parent), { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && existsSync(repoPath(parent, entry.name, 'package.json')))
      .map((entry) => `${parent}/${entry.name}`);
  });
}

const [deps, runtime] = dockerfile.split(/^FROM .* AS runtime$/m);

t.test('the deps stage copies every workspace manifest, so npm ci can use the lock file', async (t) => {
  const list = workspaces();
  t.ok(list.includes('services/sales') && list.includes('packages/event-bus'), 'the event chain is there');
  for (const workspace of list) {
    t.match(deps, `COPY ${workspace}/package.json ${workspace}/`, workspace);
  }
});

t.test('the runtime stage and the build context carry every workspace', async (t) => {
  const tops = [...new Set(workspaces().map((workspace) => workspace.split('/')[0]!))];
  for (const top of tops) {
    t.match(runtime, new RegExp(`^COPY ${top}/ ${top}/$`, 'm'), `COPY ${top}/`);
    t.ok(dockerignore.includes(`!${top}/`), `.dockerignore allows ${top}/`);
  }
  t.ok(existsSync(repoPath('services/ui/public/index.html')), 'the UI the gateway serves is under services/');
  t.notOk(dockerignore.some((line) => /public/.test(line)), 'and not ignored');
});

t.test('the image exposes every component port and binds their hosts for a container', async (t) => {
  t.match(runtime, /^EXPOSE 4000 8080 4100 4200 4300$/m);
  for (const host of ['TOKEN_SERVICE_HOST', 'GATEWAY_HOST', 'SALES_HOST', 'SHIPPING_HOST', 'INVOICING_HOST']) {
    t.match(runtime, `${host}=0.0.0.0`, host);
  }
  t.match(runtime, /AUDIT_LOG=stderr/);
});
