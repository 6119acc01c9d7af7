export { PrivateNats } from '@oblako/testing';
