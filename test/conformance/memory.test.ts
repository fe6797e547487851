// MemoryStorage passes the storage conformance suite. Its data lives and dies with the object, so
// the factory has no reopen: the read-only and durability groups are skipped, by name.
import { MemoryStorage } from '@tidaldb/core';
import { describeStorageConformance } from '@tidaldb/core/testing';

describeStorageConformance({ name: 'MemoryStorage', create: async () => new MemoryStorage() });
