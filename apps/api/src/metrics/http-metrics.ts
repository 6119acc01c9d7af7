import type { Express, NextFunction, Request, Response } from 'express';
import type { ApiMetrics } from './api-metrics.js';

/**
 * Times every request and labels it with the route template Express matched (`/api/v1/servers/:id`), never the
 * raw path, so the number of series stays bounded whatever ids or junk paths clients send; a request no route
 * matched is `unmatched`. Installed first, before Nest's routes.
 */
export function installHttpMetrics(app: Express, metrics: ApiMetrics): void {
  app.use((req: Request, res: Response, next: NextFunction) => {
    const end = metrics.httpDuration.startTimer();
    res.once('finish', () => {
      const route = (req.route as { path?: unknown } | undefined)?.path;
      end({ method: req.method, route: typeof route === 'string' ? `${req.baseUrl ?? ''}${route}` : 'unmatched', status: String(res.statusCode) });
    });
    next();
  });
}
