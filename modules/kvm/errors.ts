import { InfraError } from '../../stacks/errors.ts';

/**
 * libvirt refused or failed a request: the message is libvirt's own (virsh's `error:` lines),
 * `where` names the resource and the connection URI. Exit 23.
 */
export class LibvirtError extends InfraError {
  readonly reason = 'Libvirt';
  override readonly exitCode = 23;
  readonly uri: string;
  readonly resource: string;
  constructor(message: string, options: { uri: string; resource: string; hint?: string; cause?: unknown }) {
    super(message, { where: `${options.resource} on ${options.uri}`, ...(options.hint ? { hint: options.hint } : {}), ...(options.cause ? { cause: options.cause } : {}) });
    this.uri = options.uri;
    this.resource = options.resource;
  }
}

/** A KVM resource's input cannot work (missing pool path, a domain infra does not own, ...). Exit 23. */
export class KvmInputError extends InfraError {
  readonly reason = 'KvmInput';
  override readonly exitCode = 23;
}

/** A VM started but did not get an address or SSH did not come up in time. Exit 23. */
export class VmNotReadyError extends InfraError {
  readonly reason = 'VmNotReady';
  override readonly exitCode = 23;
}
