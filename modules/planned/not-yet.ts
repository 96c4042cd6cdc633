/** Provisioning that is planned in the stack language but not built yet: a clear error when `up` reaches it. */
export async function create(inputs: { kind: string; name: string; what: string }): Promise<never> {
  throw new Error(`${inputs.kind} "${inputs.name}": ${inputs.what} is not implemented yet; \`infra preview\` shows it, \`infra up\` cannot create it`);
}
