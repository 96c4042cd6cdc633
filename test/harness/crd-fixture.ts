/**
 * A namespaced CustomResourceDefinition as YAML, served and stored as v1: `spec` with the given
 * typed fields, or any content when none are given. Plural and singular are the kind in lower case.
 */
export function crdYaml(group: string, kind: string, specFields?: Readonly<Record<string, 'string' | 'integer' | 'boolean'>>): string {
  const singular = kind.toLowerCase();
  const plural = `${singular}s`;
  const schema = specFields
    ? [
        '        openAPIV3Schema:',
        '          type: object',
        '          properties:',
        '            spec:',
        '              type: object',
        '              properties:',
        ...Object.entries(specFields).map(([field, type]) => `                ${field}: {type: ${type}}`),
      ]
    : ['        openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}'];
  return [
    'apiVersion: apiextensions.k8s.io/v1',
    'kind: CustomResourceDefinition',
    'metadata:',
    `  name: ${plural}.${group}`,
    'spec:',
    `  group: ${group}`,
    `  names: {kind: ${kind}, plural: ${plural}, singular: ${singular}}`,
    '  scope: Namespaced',
    '  versions:',
    '    - name: v1',
    '      served: true',
    '      storage: true',
    '      schema:',
    ...schema,
    '',
  ].join('\n');
}
