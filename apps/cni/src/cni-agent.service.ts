import { BeforeApplicationShutdown, Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { CniAgent } from '@ycloud/cni';
import type { CniAppOptions } from './cni-options';

export const CNI_APP_OPTIONS = Symbol('CNI_APP_OPTIONS');

/** Runs the node agent for the lifetime of the Nest application context. */
@Injectable()
export class CniAgentService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private agent?: CniAgent;

  constructor(@Inject(CNI_APP_OPTIONS) private readonly options: CniAppOptions) {}

  async onApplicationBootstrap(): Promise<void> {
    this.agent = new CniAgent(this.options.config, { inCluster: this.options.inCluster });
    await this.agent.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.agent?.stop();
  }
}
