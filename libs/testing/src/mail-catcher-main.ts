/** Entry point of the mail catcher process: `node mail-catcher-main.js --dir D --smtp-port N --http-port M` (MAIL_CATCHER_AUTH={"user":..,"password":..} requires that login). */
import { runMailCatcher } from './mail-catcher.js';

const arg = (name: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? process.argv[i + 1] : undefined;
  if (!v) {
    console.error(`mail catcher: --${name} is required`);
    process.exit(2);
  }
  return v;
};

const auth = process.env.MAIL_CATCHER_AUTH ? (JSON.parse(process.env.MAIL_CATCHER_AUTH) as { user: string; password: string }) : undefined;
const catcher = await runMailCatcher({ dir: arg('dir'), smtpPort: Number(arg('smtp-port')), httpPort: Number(arg('http-port')), auth });
console.log('mail catcher ready');
const stop = () => void catcher.close().finally(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
