/**
 * The Helm chart rendered by a real helm (tools/helm/ctl.sh builds it from the Go module proxy) for the
 * defaults and every environment's values file: each service of apps/ that the values enable is there, as
 * the right kind of workload, with its probes, resources and secrets mounted as files, and every variable
 * the chart gives a service is one that service reads. No cluster here: this is what can be checked of a
 * deployment without one.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { kafkaSecrets } from '@parsedmarc-ts/kafka';
import { enrichEnv } from '../../apps/enrich/src/config.js';
import { mailIngestEnv, mailIngestSecrets } from '../../apps/mail-ingest/src/config.js';
import { reportParseEnv } from '../../apps/report-parse/src/config.js';
import { sinkElasticEnv, sinkElasticSecrets } from '../../apps/sink-elastic/src/config.js';
import { sinkHecEnv, sinkHecSecrets } from '../../apps/sink-hec/src/config.js';
import { sinkSmtpEnv, sinkSmtpSecrets } from '../../apps/sink-smtp/src/config.js';
import { testServer } from '../servers.js';
import { repoRoot } from './harness.js';

/** Each service: its variables, its own secrets, its workload kind. */
const services = {
  'mail-ingest': { env: mailIngestEnv.shape, secrets: mailIngestSecrets, kind: 'Deployment' },
  'report-parse': { env: reportParseEnv.shape, secrets: [], kind: 'StatefulSet' },
  enrich: { env: enrichEnv.shape, secrets: [], kind: 'StatefulSet' },
  'sink-elastic': { env: sinkElasticEnv.shape, secrets: sinkElasticSecrets, kind: 'Deployment' },
  'sink-hec': { env: sinkHecEnv.shape, secrets: sinkHecSecrets, kind: 'Deployment' },
  'sink-smtp': { env: sinkSmtpEnv.shape, secrets: sinkSmtpSecrets, kind: 'Deployment' },
} as const;
type Service = keyof typeof services;

interface K8sObject {
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  data?: Record<string, string>;
  spec?: {
    strategy?: { type: string };
    template?: { spec: PodSpec };
  };
}
interface Container {
  args: string[];
  envFrom?: { configMapRef: { name: string } }[];
  env?: { name: string; value?: string; valueFrom?: unknown }[];
  livenessProbe?: { httpGet: { path: string } };
  readinessProbe?: { httpGet: { path: string } };
  startupProbe?: { httpGet: { path: string } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: { readOnlyRootFilesystem?: boolean; allowPrivilegeEscalation?: boolean };
  volumeMounts?: { name: string; mountPath: string }[];
}
interface PodSpec {
  securityContext?: { runAsNonRoot?: boolean };
  containers: Container[];
  volumes?: { name: string; secret?: { secretName: string } }[];
}

const helm = (): string => testServer('helm', 'PDM_HELM');

function render(valuesFile?: string): K8sObject[] {
  const args = ['template', 'pdm', join(repoRoot, 'k8s/chart')];
  if (valuesFile) args.push('-f', join(repoRoot, 'k8s/values', valuesFile));
  const text = execFileSync(helm(), args, { encoding: 'utf8' });
  return parseAllDocuments(text)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);
}

const environments = [undefined, ...readdirSync(join(repoRoot, 'k8s/values')).sort()];

describe('the Helm chart, rendered for every environment', () => {
  it('has a service for every app but the CLI, and the environments together deploy all of them', () => {
    const apps = readdirSync(join(repoRoot, 'apps')).filter((a) => a !== 'cli');
    expect(apps.sort()).toEqual(Object.keys(services).sort());
    const seen = new Set<string>();
    for (const values of environments) {
      for (const o of render(values)) {
        const component = o.metadata.labels?.['app.kubernetes.io/component'];
        if (component && (o.kind === 'Deployment' || o.kind === 'StatefulSet')) seen.add(component);
      }
    }
    expect([...seen].sort()).toEqual(Object.keys(services).sort());
  });

  for (const values of environments) {
    it(`${values ?? 'defaults'}: each workload has its probes, resources, secrets as files and only known variables`, () => {
      const objects = render(values);
      const configMaps = new Map(
        objects.filter((o) => o.kind === 'ConfigMap').map((o) => [o.metadata.name, o]),
      );
      const workloads = objects.filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet');
      // The stages are always there; the others as the values enable them.
      expect(workloads.map((w) => w.metadata.labels!['app.kubernetes.io/component'])).toEqual(
        expect.arrayContaining(['report-parse', 'enrich']),
      );
      for (const workload of workloads) {
        const service = workload.metadata.labels!['app.kubernetes.io/component'] as Service;
        const spec = services[service];
        const where = `${values ?? 'defaults'}: ${workload.metadata.name}`;
        expect(spec, where).toBeDefined();
        expect(workload.kind, where).toBe(spec.kind);
        if (service === 'mail-ingest' || service === 'sink-smtp') {
          expect(workload.spec?.strategy?.type, where).toBe('Recreate');
        }
        const pod = workload.spec!.template!.spec;
        expect(pod.securityContext?.runAsNonRoot, where).toBe(true);
        expect(pod.containers, where).toHaveLength(1);
        const container = pod.containers[0]!;
        expect(container.args, where).toEqual([`apps/${service}/dist/main.js`]);
        expect(container.livenessProbe?.httpGet.path, where).toBe('/healthz');
        expect(container.readinessProbe?.httpGet.path, where).toBe('/readyz');
        expect(container.startupProbe?.httpGet.path, where).toBe('/healthz');
        expect(container.resources?.requests?.cpu, where).toBeTruthy();
        expect(container.resources?.requests?.memory, where).toBeTruthy();
        expect(container.resources?.limits?.memory, where).toBeTruthy();
        expect(container.securityContext, where).toMatchObject({
          readOnlyRootFilesystem: true,
          allowPrivilegeEscalation: false,
        });

        // Every variable set, from its ConfigMaps and its env, is one the service reads.
        const secretNames = [...kafkaSecrets, ...spec.secrets];
        const known = new Set([...Object.keys(spec.env), ...secretNames.map((n) => `${n}_FILE`), 'TZ']);
        const fromMaps = (container.envFrom ?? []).flatMap((ref) => {
          const map = configMaps.get(ref.configMapRef.name);
          expect(map, `${where}: ConfigMap ${ref.configMapRef.name}`).toBeDefined();
          return Object.keys(map!.data ?? {});
        });
        const env = container.env ?? [];
        const names = [...fromMaps, ...env.map((e) => e.name)];
        expect(
          names.filter((n) => !known.has(n)),
          where,
        ).toEqual([]);
        // No secret as a plain value: each is a file on a mounted Secret volume.
        expect(
          names.filter((n) => (secretNames as readonly string[]).includes(n)),
          where,
        ).toEqual([]);
        for (const variable of env.filter((e) => e.name.endsWith('_FILE') || e.name.endsWith('CA_FILE'))) {
          const mount = container.volumeMounts?.find((m) => variable.value?.startsWith(`${m.mountPath}/`));
          expect(mount, `${where}: ${variable.name} on a mounted volume`).toBeDefined();
          const volume = pod.volumes?.find((v) => v.name === mount!.name);
          expect(volume?.secret?.secretName, `${where}: ${variable.name} from a Secret`).toBeTruthy();
        }
        if (service === 'report-parse' || service === 'enrich') {
          // The pod's stable name is its transactional id (fencing a crashed predecessor).
          expect(env.find((e) => e.name === 'KAFKA_TRANSACTIONAL_ID')?.valueFrom, where).toEqual({
            fieldRef: { fieldPath: 'metadata.name' },
          });
        }
      }
    });
  }

  it('production mounts every password, token and key from a Secret', () => {
    const objects = render('prod.yaml');
    const fileVariables = objects
      .filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet')
      .flatMap((o) => o.spec!.template!.spec.containers[0]!.env ?? [])
      .map((e) => e.name)
      .filter((n) => n.endsWith('_FILE'));
    expect(new Set(fileVariables)).toEqual(
      new Set([
        'KAFKA_SASL_PASSWORD_FILE',
        'SCHEMA_REGISTRY_PASSWORD_FILE',
        'IMAP_PASSWORD_FILE',
        'ELASTICSEARCH_API_KEY_FILE',
        'ELASTICSEARCH_CA_FILE',
        'HEC_TOKEN_FILE',
        'HEC_CA_FILE',
        'SMTP_PASSWORD_FILE',
        'SMTP_CA_FILE',
      ]),
    );
  });
});
