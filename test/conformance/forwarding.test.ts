// The suite run through a transparent forwarding wrapper (it tests the contract, not one
// implementation's internals), and through guardStorage() around that wrapper (the guard must be
// transparent for a conforming storage).
import { MemoryStorage, guardStorage } from '@tidaldb/core';
import { describeStorageConformance } from '@tidaldb/core/testing';
import { ForwardingStorage } from './forwarding-storage.ts';

describeStorageConformance({
  name: 'ForwardingStorage(MemoryStorage)',
  create: async () => new ForwardingStorage(new MemoryStorage()),
});

describeStorageConformance({
  name: 'guardStorage(ForwardingStorage(MemoryStorage))',
  create: async () => guardStorage(new ForwardingStorage(new MemoryStorage())),
});
