import { BeforeApplicationShutdown, Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { CniAgent, CniAgentConfig } from '@ycloud/cni';

export const CNI_AGENT_CONFIG = Symbol('CNI_AGENT_CONFIG');

/** Runs the node agent for the lifetime of the Nest application context. */
@Injectable()
export class CniAgentService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private agent?: CniAgent;

  constructor(@Inject(CNI_AGENT_CONFIG) private readonly cfg: CniAgentConfig) {}

  async onApplicationBootstrap(): Promise<void> {
    this.agent = new CniAgent(this.cfg);
    await this.agent.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.agent?.stop();
  }
}
