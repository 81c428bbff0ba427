export { buildTokenService, type TokenService } from './app.ts';
export { DEV_DEFAULTS, loadTokenServiceConfig, type TokenServiceConfig } from './config.ts';
export { startTokenService } from './main.ts';
