/**
 * The local template catalogue. A template here is a name for a set of runtimes that really exist
 * on this machine (from the runtime probe) plus default resources; there is no image building.
 */
import type { RuntimeProbe, RuntimeLanguage } from '../runtime/types.js';

export interface LocalTemplate {
  id: string;
  name: string;
  displayName: string;
  description: string;
  category: string;
  language: string;
  languages: RuntimeLanguage[];
  features: string[];
  resources: { vcpu: number; memoryMb: number; diskGb: number };
}

const CREATED_AT = '2025-01-01T00:00:00.000Z';

/** Languages the probe found, in a stable order. */
export function availableLanguages(probe: RuntimeProbe): RuntimeLanguage[] {
  const langs: RuntimeLanguage[] = [];
  if (probe.python) langs.push('python');
  if (probe.node) langs.push('javascript');
  langs.push('bash');
  if (probe.go) langs.push('go');
  return langs;
}

/** One template per runtime the probe found, each with bash beside it. */
const SINGLE_RUNTIME_TEMPLATES: Array<{
  id: string;
  name: string;
  displayName: string;
  description: string;
  language: RuntimeLanguage;
  extraFeatures: string[];
  vcpu: number;
  available: (probe: RuntimeProbe) => boolean;
}> = [
  { id: '103', name: 'python', displayName: 'Python 3', description: 'Python 3 with a stateful kernel', language: 'python', extraFeatures: ['ipython_kernel'], vcpu: 1, available: (p) => !!p.python },
  { id: '104', name: 'nodejs', displayName: 'Node.js', description: 'Node.js (javascript) and bash', language: 'javascript', extraFeatures: [], vcpu: 1, available: (p) => !!p.node },
  { id: '105', name: 'go', displayName: 'Go', description: 'Go toolchain (go run, offline: GOPROXY=off) and bash', language: 'go', extraFeatures: [], vcpu: 2, available: (p) => !!p.go },
];

/** Ids are fixed per name so they stay stable across restarts. */
export function buildTemplateCatalogue(probe: RuntimeProbe): LocalTemplate[] {
  const all = availableLanguages(probe);
  const templates: LocalTemplate[] = [];
  const features = (langs: RuntimeLanguage[], extra: string[] = []) => [
    ...langs,
    'code_execution',
    'file_operations',
    'terminal_access',
    'background_jobs',
    ...extra,
  ];
  if (probe.python?.matplotlib) {
    templates.push({
      id: '101',
      name: 'code-interpreter',
      displayName: 'Code Interpreter',
      description: `Stateful Python with matplotlib${probe.python.pandas ? ' and pandas' : ''}, plus ${all
        .filter((l) => l !== 'python')
        .join(', ')}`,
      category: 'code-interpreter',
      language: 'python',
      languages: all,
      features: features(all, ['rich_output', 'ipython_kernel']),
      resources: { vcpu: 2, memoryMb: 2048, diskGb: 10 },
    });
  }
  templates.push({
    id: '102',
    name: 'base',
    displayName: 'Base',
    description: `Minimal Linux sandbox (bash${all.length > 1 ? `; also ${all.filter((l) => l !== 'bash').join(', ')}` : ''})`,
    category: 'ubuntu',
    language: 'bash',
    languages: all,
    features: features(all),
    resources: { vcpu: 1, memoryMb: 1024, diskGb: 10 },
  });
  const desktop = desktopTemplate(probe, all);
  if (desktop) templates.push(desktop);
  for (const t of SINGLE_RUNTIME_TEMPLATES) {
    if (!t.available(probe)) continue;
    const languages: RuntimeLanguage[] = [t.language, 'bash'];
    templates.push({
      id: t.id,
      name: t.name,
      displayName: t.displayName,
      description: t.description,
      category: t.name,
      language: t.language,
      languages,
      features: features(languages, t.extraFeatures),
      resources: { vcpu: t.vcpu, memoryMb: 1024, diskGb: 10 },
    });
  }
  return templates;
}

/** The desktop template: an X display inside each sandbox (only where the probe found the tools). */
function desktopTemplate(probe: RuntimeProbe, languages: RuntimeLanguage[]): LocalTemplate | null {
  if (!probe.desktop.available) return null;
  const features = [...languages, 'code_execution', 'file_operations', 'terminal_access', 'background_jobs', 'desktop'];
  if (probe.desktop.vnc) features.push('vnc');
  return {
    id: '106',
    name: 'desktop',
    displayName: 'Desktop',
    description: `Linux desktop for computer use: a 1280x800 X display (Xvfb, openbox) inside the sandbox, mouse and keyboard (xdotool), screenshots${probe.desktop.vnc ? ', VNC (x11vnc)' : ''}`,
    category: 'desktop',
    language: languages.includes('python') ? 'python' : 'bash',
    languages,
    features,
    resources: { vcpu: 2, memoryMb: 2048, diskGb: 10 },
  };
}

export function findTemplate(templates: LocalTemplate[], nameOrId: string): LocalTemplate | undefined {
  return templates.find((t) => t.id === nameOrId || t.name === nameOrId);
}

/** The wire shape (docs/hopx-wire.md §4.10), snake_case. */
export function templateToWire(t: LocalTemplate): Record<string, unknown> {
  const resources = { vcpu: t.resources.vcpu, memory_mb: t.resources.memoryMb, disk_gb: t.resources.diskGb };
  return {
    id: t.id,
    object: 'template',
    name: t.name,
    display_name: t.displayName,
    description: t.description,
    category: t.category,
    language: t.language,
    languages: t.languages,
    icon: null,
    default_resources: resources,
    min_resources: { vcpu: 1, memory_mb: 256, disk_gb: 1 },
    max_resources: resources,
    features: t.features,
    tags: ['local'],
    popularity_score: 0,
    docs_url: null,
    is_active: true,
    is_public: true,
    status: 'active',
    build_id: null,
    organization_id: 'local',
    created_at: CREATED_AT,
    updated_at: CREATED_AT,
  };
}
