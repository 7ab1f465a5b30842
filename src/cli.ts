#!/usr/bin/env -S node --max-semi-space-size=4 --heap-growing-percent=100
/** `npm start` / `streamgate`: parse settings, start the gateway, stop cleanly on signals. */
import { Command, Option } from 'commander';
import { SETTINGS, envName, readConfigFile, resolveConfig, type SettingKey } from './config.js';
import { GatewayError } from './core/errors.js';
import { createLogger } from './core/logger.js';
import { startGateway } from './gateway.js';

async function main(argv: string[]): Promise<void> {
  const program = new Command()
    .name('streamgate')
    .description('Live-streaming gateway: RTMP in; HLS (CMAF, LL-HLS), DASH and MPEG-TS out.')
    .option('-c, --config <file>', 'JSON config file (keys are the camelCase setting names); env CONFIG')
    .allowExcessArguments(false);
  for (const spec of Object.values(SETTINGS)) {
    const def = spec.schema.safeParse(undefined);
    const defText = def.success && def.data !== undefined ? ` (default: ${JSON.stringify(def.data)})` : '';
    program.addOption(new Option(`--${spec.flag} <value>`, `${spec.help}; env ${envName(spec.flag)}${defText}`));
  }
  program.parse(argv);
  const opts = program.opts<Record<string, unknown>>();

  const configPath = (opts['config'] as string | undefined) ?? process.env['CONFIG'];
  const file = configPath ? readConfigFile(configPath) : {};
  const flags: Partial<Record<SettingKey, unknown>> = {};
  for (const key of Object.keys(SETTINGS) as SettingKey[]) if (opts[key] !== undefined) flags[key] = opts[key];
  const config = resolveConfig(flags, process.env, file);

  const logger = createLogger(config.logLevel, config.logPretty ?? process.stdout.isTTY === true);
  const gateway = await startGateway(config, logger);
  if (gateway.publishAuthDescription.warn) logger.warn(gateway.publishAuthDescription.text);
  else logger.info(gateway.publishAuthDescription.text);
  const secure = gateway.rtmpsPort !== undefined ? `, rtmps on port ${gateway.rtmpsPort}, https on port ${gateway.httpsPort}` : '';
  const srt = gateway.srtPort !== undefined ? `, srt on udp port ${gateway.srtPort}` : '';
  logger.info(
    { rtmpPort: gateway.rtmpPort, httpPort: gateway.httpPort, rtmpsPort: gateway.rtmpsPort, httpsPort: gateway.httpsPort, srtPort: gateway.srtPort, host: config.host },
    `listening: rtmp on port ${gateway.rtmpPort}, http on port ${gateway.httpPort}${secure}${srt}`,
  );

  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, drainSeconds: config.shutdownDrain }, 'stopping');
    const forceAfter = 4.5 + config.shutdownDrain;
    const force = setTimeout(() => {
      logger.warn(`forced exit after ${forceAfter} s`);
      process.exit(0);
    }, forceAfter * 1000);
    force.unref();
    gateway
      .stop()
      .then(() => {
        logger.info('stopped');
        logger.flush?.();
        setTimeout(() => process.exit(0), 50).unref();
      })
      .catch((err: unknown) => {
        logger.error({ err: (err as Error).message }, 'error while stopping');
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main(process.argv).catch((err: unknown) => {
  if (err instanceof GatewayError) {
    process.stderr.write(`streamgate: ${err.message}\n`);
  } else {
    process.stderr.write(`streamgate: ${(err as Error).stack ?? String(err)}\n`);
  }
  process.exit(1);
});
