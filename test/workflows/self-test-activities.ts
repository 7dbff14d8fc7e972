export interface SelfTestActivities {
  echo(message: string): Promise<string>;
}

export const selfTestActivities: SelfTestActivities = {
  async echo(message: string) {
    return `echo: ${message}`;
  },
};
