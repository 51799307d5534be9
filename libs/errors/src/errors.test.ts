import { describe, expect, it } from 'vitest';
import { isPdmError, PdmError } from './index.js';

class DiskError extends PdmError<'DISK_FULL' | 'DISK_AWAY', { path: string }> {
  readonly family = 'disk';
  override readonly name = 'DiskError';
}

describe('the error base', () => {
  it('carries code, context, retriable and cause, and says which family it is', () => {
    const cause = new Error('ENOSPC');
    const error = new DiskError('DISK_FULL', 'the disk is full', { path: '/out' }, { cause });
    expect(error).toBeInstanceOf(Error);
    expect([error.code, error.context, error.retriable, error.cause]).toEqual([
      'DISK_FULL',
      { path: '/out' },
      false,
      cause,
    ]);
    expect(isPdmError(error)).toBe(true);
    expect(isPdmError(error, 'disk')).toBe(true);
    expect(isPdmError(error, 'parse')).toBe(false);
    expect(isPdmError(cause)).toBe(false);
    expect(JSON.parse(JSON.stringify(error))).toEqual({
      code: 'DISK_FULL',
      message: 'the disk is full',
      retriable: false,
      context: { path: '/out' },
    });
  });

  it('is recognised by its brand, never by a name, and carries retriable as given', () => {
    const away = new DiskError('DISK_AWAY', 'not mounted', { path: '/out' }, { retriable: true });
    expect([isPdmError(away), away.retriable]).toEqual([true, true]);
    const named = Object.assign(new Error('x'), { name: 'DiskError', retriable: true, family: 'disk' });
    expect(isPdmError(named)).toBe(false);
  });
});
