import { SURFACES } from '../../activities/model.js';
import * as k8s from '@kubernetes/client-node';
test('esm deps load', () => {
  expect(SURFACES).toContain('kubernetes');
  expect(typeof k8s.KubeConfig).toBe('function');
});
